"""Crawling stores for garment images: one generic Scrapy spider driven by ``crawlers/*.toml``.

Importing this package does not import Scrapy or a Twisted reactor; :mod:`pgdata.crawl.spider`,
:mod:`pgdata.crawl.pipelines` and :mod:`pgdata.crawl.middlewares` do (``pgdata crawl`` loads them
inside its run). :mod:`pgdata.crawl.config` needs only parsel, :mod:`pgdata.crawl.extract` parsel, extruct and
price-parser.
"""
