"""Would a home battery pay off? Battery simulations from your own SEMS history."""
