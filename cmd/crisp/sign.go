package main

import (
	"context"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crisphq/crisp/identity"
)

const signSynopsis = `Prints X-Crisp-User-Hash for a customer id: the lowercase hex HMAC-SHA256
of the id under the workspace's first identity secret (or --secret-id's).
With --jwt it also prints an HS256 X-Crisp-Identity-Token that expires after --ttl.`

func runSign(_ context.Context, e env, args []string) error {
	fs := newFlags("sign", signSynopsis, e)
	var c common
	c.register(fs, e)
	user := fs.String("user", "", "customer (user) id, e.g. usr_2481 (required)")
	secretID := fs.String("secret-id", "", "which identity secret to use (default: the first)")
	withJWT := fs.Bool("jwt", false, "also print an identity token")
	ttl := fs.Duration("ttl", time.Hour, "identity token lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *user == "" {
		fs.Usage()
		return errUsage
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	for _, s := range cfg.Identity.Secrets {
		if *secretID != "" && s.ID != *secretID {
			continue
		}
		fmt.Fprintln(e.stdout, identity.Sign([]byte(s.Key.Value()), *user))
		if *withJWT {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"sub": *user, "iat": time.Now().Unix(), "exp": time.Now().Add(*ttl).Unix(),
			})
			tok.Header["kid"] = s.ID
			signed, err := tok.SignedString([]byte(s.Key.Value()))
			if err != nil {
				return fmt.Errorf("sign token: %w", err)
			}
			fmt.Fprintln(e.stdout, signed)
		}
		return nil
	}
	return fmt.Errorf("no identity secret %q configured", *secretID)
}
