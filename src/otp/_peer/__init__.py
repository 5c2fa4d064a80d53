"""The parts of `otp.peer`: see that module for what a peer node is."""
