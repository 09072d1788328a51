"""The model stage: leaf layers, the graph a block describes, the block types, and spec -> plan -> module.

Kept free of imports here: the spec stage imports the block registry from this package."""
