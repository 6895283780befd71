package serve

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Check answers Envoy's ext_authz over gRPC
// (envoy.service.auth.v3.Authorization/Check). The token comes from the
// request's authorization header, the route from its method and path.
// An accepted request is OK with the identity headers set on the upstream
// request, overwriting any the client sent (OVERWRITE_IF_EXISTS_OR_ADD),
// and every identity header without a value removed. A rejection is
// denied with core's gRPC code, and the HTTP status, WWW-Authenticate and
// body that [Server.ServeHTTP] sends: a denied response, never an error
// response, so that Envoy's failure_mode_allow cannot turn a 503 into an
// admission.
//
// Envoy merges repeated headers into one comma-separated value unless its
// encode_raw_headers is set; both forms are read, and a merged pair of
// Authorization headers is refused as core refuses extra parts.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	var ts []target
	var terr error
	if h.GetPath() != "" || h.GetMethod() != "" {
		t, err := checkTarget(h)
		ts, terr = []target{t}, err
	}
	cr := checked{h: h, method: "POST", path: authv3.Authorization_Check_FullMethodName}
	if len(ts) > 0 {
		cr.rawQuery, cr.method, cr.path = ts[0].rawQuery, ts[0].method, ts[0].path
	}
	pol := s.policy.Load()
	v := s.decide(ctx, pol, cr, ts, terr)
	if v.err != nil {
		resp := s.v.Response(v.err)
		denied := &authv3.DeniedHttpResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode(resp.Status)},
			Body:   string(resp.Body),
		}
		for name, values := range resp.Headers() {
			for _, value := range values {
				denied.Headers = append(denied.Headers, headerOption(name, value))
			}
		}
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(resp.GRPCCode), Message: resp.GRPCMessage},
			HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: denied},
		}, nil
	}
	ok := &authv3.OkHttpResponse{}
	if v.claims != nil {
		s.identity(ctx, pol, v.claims,
			func(name, value string) { ok.Headers = append(ok.Headers, headerOption(name, value)) },
			func(name string) { ok.HeadersToRemove = append(ok.HeadersToRemove, strings.ToLower(name)) })
	} else {
		// An anonymous request: the upstream learns no identity, and none a
		// client sent.
		ok.HeadersToRemove = slices.Clone(pol.owned)
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
	}, nil
}

// ownedHeaders are every header the server sets on the upstream request,
// in lower case as HTTP/2 writes header names.
func ownedHeaders(claims []ClaimHeader) []string {
	out := make([]string, 0, len(identityHeaders)+len(claims))
	for _, name := range identityHeaders {
		out = append(out, strings.ToLower(name))
	}
	for _, m := range claims {
		out = append(out, strings.ToLower(m.Header))
	}
	return out
}

func headerOption(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: strings.ToLower(name), Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// checkTarget is the original request as Envoy describes it: its method,
// and its path with the query (Envoy's path is the request target).
func checkTarget(h *authv3.AttributeContext_HttpRequest) (target, error) {
	m := h.GetMethod()
	if !validMethod(m) {
		return target{}, errors.New("the method is not a token")
	}
	p, q, err := splitURI(h.GetPath())
	if err != nil {
		return target{}, err
	}
	if q == "" {
		q = h.GetQuery()
	}
	return target{method: m, path: p, rawQuery: q}, nil
}

// checked is a CheckRequest as core reads it.
type checked struct {
	h        *authv3.AttributeContext_HttpRequest
	rawQuery string
	// method and path name the request Envoy checks in a rejection line;
	// the Check call itself when Envoy sent neither.
	method, path string
}

// Target names the checked request in core's rejection line
// ([core.RequestTarget]).
func (c checked) Target() (method, path string) { return c.method, c.path }

// Header returns every value of the header: each raw header of
// encode_raw_headers, or the one merged value of the headers map.
func (c checked) Header(name string) []string {
	if hm := c.h.GetHeaderMap(); hm != nil {
		var out []string
		for _, hv := range hm.GetHeaders() {
			if strings.EqualFold(hv.GetKey(), name) {
				if hv.GetRawValue() != nil {
					out = append(out, string(hv.GetRawValue()))
				} else {
					out = append(out, hv.GetValue())
				}
			}
		}
		return out
	}
	if v, ok := c.h.GetHeaders()[strings.ToLower(name)]; ok {
		return []string{v}
	}
	return nil
}

func (c checked) Query(name string) []string { return forwarded{rawQuery: c.rawQuery}.Query(name) }

func (c checked) Cookie(name string) (string, bool) {
	return forwarded{header: http.Header{"Cookie": c.Header("Cookie")}}.Cookie(name)
}

// RegisterGRPC registers the server's ext_authz Authorization service and
// grpc.health.v1.Health on g. Health is SERVING while the verifier holds
// a key set for every issuer, for the empty service name and for
// envoy.service.auth.v3.Authorization.
func (s *Server) RegisterGRPC(g grpc.ServiceRegistrar) {
	authv3.RegisterAuthorizationServer(g, authorization{s})
	healthpb.RegisterHealthServer(g, healthServer{s: s})
}

// authorization keeps Check off the set of methods a ServiceRegistrar sees
// on Server.
type authorization struct{ s *Server }

func (a authorization) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	return a.s.Check(ctx, req)
}

// healthServer answers grpc.health.v1.Health from the verifier's
// readiness, as /readyz does.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

// authorizationService is the ext_authz service's name for health checks.
const authorizationService = "envoy.service.auth.v3.Authorization"

func (h healthServer) status(service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	if service != "" && service != authorizationService {
		return 0, status.Errorf(codes.NotFound, "unknown service %q", service)
	}
	if h.s.v.Ready() {
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, nil
}

func (h healthServer) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	st, err := h.status(req.GetService())
	if err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

func (h healthServer) List(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	for _, name := range []string{"", authorizationService} {
		st, _ := h.status(name)
		out.Statuses[name] = &healthpb.HealthCheckResponse{Status: st}
	}
	return out, nil
}
