// Package grpcfake serves a gRPC service on a loopback port: the ground
// under the local fakes of cloud services (speech, translation) that tests
// point the real Google clients at.
package grpcfake

import (
	"fmt"
	"net"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Server is a running gRPC server. Stop ends it.
type Server struct {
	lis  net.Listener
	srv  *grpc.Server
	done chan struct{}
}

// Start listens on a free loopback port, lets register add the services,
// and serves until Stop.
func Start(register func(*grpc.Server)) (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("grpcfake: %w", err)
	}
	s := &Server{lis: lis, srv: grpc.NewServer(), done: make(chan struct{})}
	register(s.srv)
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(lis)
	}()
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// ClientOptions point a real Google Cloud client at this server: its
// address, no credentials, plain gRPC.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// Stop ends the server and every call in progress, and waits for it.
func (s *Server) Stop() {
	s.srv.Stop()
	<-s.done
}
