"""Campaign seeding: influence maximisation (IMM) on graph folders, with Monte Carlo checks."""
