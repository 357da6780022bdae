"""Garment jobs: ``crawl`` (a store's products and images) and ``garments`` (packshots → garment set + shards)."""
