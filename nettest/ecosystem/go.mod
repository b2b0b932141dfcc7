module github.com/ringnet/ringnet/nettest/ecosystem

go 1.26.8

require (
	github.com/coder/websocket v1.8.15
	github.com/miekg/dns v1.1.73
	github.com/quic-go/quic-go v0.65.0
	github.com/ringnet/ringnet v0.0.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/net v0.62.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/godzie44/go-uring v0.0.0-20250501163612-d16a9e597639 // indirect
	github.com/libp2p/go-sockaddr v0.1.1 // indirect
	github.com/quic-go/qpack v0.6.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/ringnet/ringnet => ../..
