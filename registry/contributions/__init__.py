"""Contributions: what participants give and do here: experiences, doctor ratings, tips, follow-ups,
conditions they follow, reminders, and their data rights; and what moderators do with it (screening,
flags, decisions). Domain functions take and return models; the caller commits."""
