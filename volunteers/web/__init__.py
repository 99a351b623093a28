"""The web layer: the only part of volunteers/ that imports Flask. Views stay thin; rules live in the domain."""
