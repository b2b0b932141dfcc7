package ringnet

// Backend reports the backend that serves listeners and connections:
// "io_uring".
func Backend() string { return "io_uring" }
