package serve

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// dial serves s's gRPC services on bufconn until the test ends.
func dial(t testing.TB, s *Server) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	s.RegisterGRPC(g)
	go g.Serve(ln)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		g.Stop()
	})
	return conn
}

func checkRequest(method, path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Headers: headers}}}}
}

func okHeaders(res *authv3.CheckResponse) map[string]string {
	out := map[string]string{}
	for _, h := range res.GetOkResponse().GetHeaders() {
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			out["append-action-"+h.GetHeader().GetKey()] = h.GetAppendAction().String()
		}
		out[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	return out
}

// TestCheck: OK with the identity headers overwriting the client's, or
// denied with core's gRPC code and the HTTP response of the forward-auth
// endpoint, byte for byte.
func TestCheck(t *testing.T) {
	f := newFixture(t, testPolicy)
	client := authv3.NewAuthorizationClient(dial(t, f.s))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reader := f.idp.NewToken("alice").Scopes("read").Claim("tenant", "acme").Sign()
	auth := func(tok string) map[string]string {
		return map[string]string{"authorization": "Bearer " + tok, "x-auth-subject": "root", "x-tenant": "evil"}
	}
	for _, tc := range []struct {
		name        string
		req         *authv3.CheckRequest
		code        codes.Code
		reason      core.Reason
		set, remove []string
	}{
		{"accepted", checkRequest("GET", "/orders/1?x=1", auth(reader)), codes.OK, "",
			[]string{"x-auth-subject=alice", "x-auth-scopes=read", "x-tenant=acme"}, []string{"x-level", "x-beta", "x-groups", "x-bad"}},
		{"anonymous", checkRequest("GET", "/public/docs", map[string]string{"x-auth-subject": "root"}), codes.OK, "",
			nil, []string{"x-auth-subject", "x-auth-issuer", "x-auth-scopes", "x-auth-claims", "x-tenant", "x-level", "x-beta", "x-groups", "x-bad"}},
		{"no token", checkRequest("GET", "/orders", nil), codes.Unauthenticated, core.ReasonTokenMissing, nil, nil},
		{"a bad token", checkRequest("GET", "/orders", auth("x.y.z")), codes.Unauthenticated, core.ReasonTokenMalformed, nil, nil},
		{"missing scope", checkRequest("POST", "/admin/users", auth(reader)), codes.PermissionDenied, core.ReasonInsufficientScope, nil, nil},
		{"merged Authorization headers", checkRequest("GET", "/orders", map[string]string{"authorization": "Bearer a,Bearer b"}), codes.InvalidArgument, core.ReasonRequestInvalid, nil, nil},
		{"no attributes", &authv3.CheckRequest{}, codes.InvalidArgument, core.ReasonRequestInvalid, nil, nil},
		{"a bad method", checkRequest("G ET", "/orders", auth(reader)), codes.InvalidArgument, core.ReasonRequestInvalid, nil, nil},
		{"a bad path", checkRequest("GET", "orders", auth(reader)), codes.InvalidArgument, core.ReasonRequestInvalid, nil, nil},
		{"raw headers, two Authorization fields", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/orders", HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
				{Key: "authorization", RawValue: []byte("Bearer " + reader)}, {Key: "authorization", Value: ""}}}}}}},
			codes.InvalidArgument, core.ReasonRequestInvalid, nil, nil},
		{"raw headers, one Authorization field", &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/orders", HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
				{Key: "Authorization", RawValue: []byte("Bearer " + reader)}}}}}}},
			codes.OK, "", []string{"x-auth-subject=alice"}, []string{"x-level", "x-beta", "x-groups", "x-bad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := client.Check(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := codes.Code(res.GetStatus().GetCode()); got != tc.code {
				t.Fatalf("code %s, want %s (%v)", got, tc.code, res)
			}
			if tc.code == codes.OK {
				got := okHeaders(res)
				for _, kv := range tc.set {
					k, v, _ := strings.Cut(kv, "=")
					if got[k] != v {
						t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
					}
				}
				for k, v := range got {
					if strings.HasPrefix(k, "append-action-") {
						t.Errorf("%s: %s, want OVERWRITE_IF_EXISTS_OR_ADD", k, v)
					}
				}
				removed := res.GetOkResponse().GetHeadersToRemove()
				slices.Sort(removed)
				want := slices.Sorted(slices.Values(tc.remove))
				if !slices.Equal(removed, want) {
					t.Errorf("headers_to_remove %q, want %q", removed, want)
				}
				return
			}
			want := f.s.v.Response(&core.Error{Reason: tc.reason, Scopes: []string{"admin"}})
			denied := res.GetDeniedResponse()
			h := http.Header{}
			for _, o := range denied.GetHeaders() {
				h.Add(o.GetHeader().GetKey(), o.GetHeader().GetValue())
			}
			if int(denied.GetStatus().GetCode()) != want.Status || denied.GetBody() != string(want.Body) ||
				h.Get("WWW-Authenticate") != want.WWWAuthenticate || h.Get("Cache-Control") != "no-store" ||
				res.GetStatus().GetMessage() != want.GRPCMessage {
				t.Errorf("denied %v, want core's %d %q %q", res, want.Status, want.WWWAuthenticate, want.Body)
			}
		})
	}
}

// TestCheckUnavailable: keys that cannot be fetched are a denied 503 with
// gRPC Unavailable, never an error response Envoy's failure_mode_allow
// could admit.
func TestCheckUnavailable(t *testing.T) {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	idp.Fail(http.StatusInternalServerError)
	v, err := core.New(idp.Config(), core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	s, _ := New(v, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.Check(ctx, checkRequest("GET", "/x", map[string]string{"authorization": "Bearer " + idp.Token("alice")}))
	if err != nil || codes.Code(res.GetStatus().GetCode()) != codes.Unavailable ||
		res.GetDeniedResponse().GetStatus().GetCode() != http.StatusServiceUnavailable {
		t.Errorf("%v %v, want a denied 503 with Unavailable", res, err)
	}
	h, err := healthpb.NewHealthClient(dial(t, s)).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health of a verifier without keys: %v %v, want NOT_SERVING", h, err)
	}
}

// TestHealth: grpc.health.v1 follows the verifier's readiness.
func TestHealth(t *testing.T) {
	f := newFixture(t, "")
	health := healthpb.NewHealthClient(dial(t, f.s))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tc := range []struct {
		service string
		code    codes.Code
		status  healthpb.HealthCheckResponse_ServingStatus
	}{
		{"", codes.OK, healthpb.HealthCheckResponse_SERVING},
		{"envoy.service.auth.v3.Authorization", codes.OK, healthpb.HealthCheckResponse_SERVING},
		{"other.Service", codes.NotFound, 0},
	} {
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: tc.service})
		if status.Code(err) != tc.code || res.GetStatus() != tc.status {
			t.Errorf("%q: %v %v, want %s %s", tc.service, res, err, tc.code, tc.status)
		}
	}
	list, err := health.List(ctx, &healthpb.HealthListRequest{})
	if err != nil || len(list.GetStatuses()) != 2 || list.GetStatuses()[""].GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("List: %v %v", list, err)
	}
}

// TestCheckBadInputNeverPanics: whatever Envoy (or anyone reaching the
// port) sends is answered.
func TestCheckBadInputNeverPanics(t *testing.T) {
	f := newFixture(t, testPolicy)
	for _, req := range []*authv3.CheckRequest{
		nil,
		{Attributes: &authv3.AttributeContext{}},
		{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}},
		checkRequest("", "", nil),
		checkRequest("GET", "", nil),
		checkRequest("", "/x", nil),
		checkRequest("GET", "/"+strings.Repeat("a", 1<<20), map[string]string{"authorization": strings.Repeat("B", 1<<16)}),
		checkRequest("GET", "/x", map[string]string{"authorization": "Bearer \x00", "cookie": "\x00;;=="}),
		{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/x", HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{nil, {}}}}}}},
	} {
		res, err := f.s.Check(context.Background(), req)
		if err != nil || res.GetStatus().GetCode() == int32(codes.OK) {
			t.Errorf("%.80v: %v %v, want a denial", req, res, err)
		}
	}
}
