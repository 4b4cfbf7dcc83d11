"""The processor: ``pipeline`` (framework-free, ports only), ``offload`` (the pipeline in a child process),
``compose`` (the composition root) and ``app`` (the Faust agent that drives a BatchProcessor)."""
