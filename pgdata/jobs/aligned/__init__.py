"""Aligned (paired) image jobs for pix2pix: ``combine-ab`` (A and B folders → A|B images), the
aligned sample, and ``build`` of aligned shards."""
