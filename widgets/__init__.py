"""Portal views; REGISTRY arrives with the views issue."""
