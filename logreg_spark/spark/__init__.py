"""The Spark side: the session, reading and checking the input, Arrow → blocks, the block store,
the distributed pass, and scoring DataFrames."""
