module github.com/jwtguard/jwtguard/connectjwt

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/jwtguard/jwtguard v0.0.0-00010101000000-000000000000
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/MicahParks/jwkset v0.11.3 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	golang.org/x/time v0.15.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/jwtguard/jwtguard => ../
