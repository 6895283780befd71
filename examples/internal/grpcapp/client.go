package grpcapp

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Call calls one method of demo.Demo with an Empty request and returns its
// answer. For WhoamiStream it reads the whole stream, which must hold at
// least one message, and returns the first.
func Call(ctx context.Context, conn grpc.ClientConnInterface, method string) (*structpb.Struct, error) {
	if method != WhoamiStreamMethod {
		out := new(structpb.Struct)
		return out, conn.Invoke(ctx, method, &emptypb.Empty{}, out)
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{StreamName: "WhoamiStream", ServerStreams: true}, method)
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(&emptypb.Empty{}); err != nil {
		return nil, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	var first *structpb.Struct
	for {
		m := new(structpb.Struct)
		err := stream.RecvMsg(m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = m
		}
	}
	if first == nil {
		return nil, errors.New("grpcapp: the stream ended without a message")
	}
	return first, nil
}
