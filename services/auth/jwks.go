package auth

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
)

// JWK is one RSA public key in RFC 7517 form.
type JWK struct {
	Kty string `json:"kty" example:"RSA"`
	Use string `json:"use" example:"sig"`
	Alg string `json:"alg" example:"RS256"`
	Kid string `json:"kid" example:"20260102T150405.000000000Z-1a2b3c4d"`
	N   string `json:"n" example:"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"`
	E   string `json:"e" example:"AQAB"`
} // @name JWK

// JWKSet is the document of GET /.well-known/jwks.json: every key a token
// verifies with. It is empty with HS256, whose secret is never published.
type JWKSet struct {
	Keys []JWK `json:"keys"`
} // @name JWKSet

func publicJWK(kid string, pub *rsa.PublicKey) JWK {
	return JWK{
		Kty: "RSA", Use: "sig", Alg: "RS256", Kid: kid,
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}
