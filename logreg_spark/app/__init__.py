"""The jobs' shell: the command line, the conf schema, and the train, predict and evaluate runners
that ``jobs/`` starts."""
