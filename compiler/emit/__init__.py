"""Backend emitters and the buffer plan they share."""
