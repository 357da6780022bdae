"""Model backends behind the try-on stages; each optional dependency is imported lazily."""
