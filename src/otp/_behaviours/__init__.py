"""OTP behaviours built on the runtime: GenServer and friends."""
