module github.com/ringnet/ringnet

go 1.26.8

require (
	github.com/godzie44/go-uring v0.0.0-20250501163612-d16a9e597639
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/libp2p/go-sockaddr v0.1.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
