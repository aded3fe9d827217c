"""Renderings shared by the emitters: loop nests (torch, loops) and scalar statements."""
