"""Long-term memory: facts about the user, suggested from what the user said (never invented)."""
