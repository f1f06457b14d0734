"""What the jobs leave behind: Hadoop paths written atomically, the model directory, checkpoints,
pictures."""
