"""The hub's own pages: home (state of the hub's sources), account and agency administration."""
