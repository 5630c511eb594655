"""The shared language of every sector: the event schema, enums, code sets and syndromes."""
