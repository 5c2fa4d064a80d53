"""The process runtime: pids, mailboxes, signals, names, timers, the node."""
