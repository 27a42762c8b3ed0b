"""Getting a project and a machine ready: ``init`` adopts hexpack in a mix project, ``doctor`` checks the
machine, ``install_source`` says where the running hexpack came from."""
