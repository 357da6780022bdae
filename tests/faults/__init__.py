"""The fault suite (issue 15): real processes killed with SIGKILL at seeded points of a Dask build
(a worker, then the client), a crawl of the demo shop and a training run; each rerun must finish
with the result of an uninterrupted run."""
