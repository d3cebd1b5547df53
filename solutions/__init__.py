"""Reference implementations the hidden graders compare student work against. Never released."""
