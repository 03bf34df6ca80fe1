"""Architecture checks: the layers and the package graph, read from the source (nothing imported)."""
