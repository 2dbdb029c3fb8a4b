"""Projects created from approved orders: tasks, milestones, hours."""
