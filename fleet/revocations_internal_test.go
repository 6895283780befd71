package fleet

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"
)

// The revocation list is tested here without a bus, in a synctest bubble:
// its expiry timer runs on fake time.

func entry(t testing.TB, r Revocation) revUpdate {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return revUpdate{key: r.key(), value: data}
}

// runList starts the list's goroutine in the caller's bubble; updates are
// applied once synctest.Wait returns.
func runList(t *testing.T, max int) (*revocationList, chan<- revUpdate) {
	l := newRevocationList(max, slog.New(slog.DiscardHandler))
	updates := make(chan revUpdate, 16)
	stop := make(chan struct{})
	go l.run(updates, stop)
	t.Cleanup(func() { close(stop) })
	return l, updates
}

// Entries leave at their expiry on the instance's own clock, whether or
// not the bucket's removal arrives, each at its own time.
func TestRevocationExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, updates := runList(t, 10)
		now := time.Now()
		updates <- entry(t, Revocation{Kind: KindJTI, Value: "short", Expires: now.Add(time.Minute)})
		updates <- entry(t, Revocation{Kind: KindKID, Value: "long", Issuer: "https://idp", Expires: now.Add(time.Hour)})
		updates <- entry(t, Revocation{Kind: KindSub, Value: "past", Expires: now.Add(-time.Second)})
		synctest.Wait()
		if !l.Revoked("https://x", "", "short", "") || !l.Revoked("https://idp", "long", "", "") || l.len() != 2 {
			t.Fatalf("entries in force: %d", l.len())
		}
		if l.Revoked("https://other", "long", "", "") || l.Revoked("", "", "", "past") {
			t.Fatal("an entry matched outside its issuer, or after its expiry")
		}
		time.Sleep(time.Minute - time.Nanosecond)
		synctest.Wait()
		if !l.Revoked("", "", "short", "") {
			t.Fatal("expired early")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if l.Revoked("", "", "short", "") || l.len() != 1 {
			t.Fatal("not expired at its TTL")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if l.snap.Load() != nil {
			t.Fatal("the list is not empty after every TTL")
		}
	})
}

// A new watch replays the bucket: entries removed meanwhile go once the
// replay is complete, and stay in force until then.
func TestRevocationReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, updates := runList(t, 10)
		exp := time.Now().Add(time.Hour)
		kept := Revocation{Kind: KindSub, Value: "kept", Expires: exp}
		gone := Revocation{Kind: KindSub, Value: "gone", Expires: exp}
		updates <- revUpdate{reset: true}
		updates <- entry(t, kept)
		updates <- entry(t, gone)
		updates <- revUpdate{synced: true}
		synctest.Wait()
		updates <- revUpdate{reset: true}
		updates <- entry(t, kept)
		synctest.Wait()
		if !l.Revoked("", "", "", "gone") {
			t.Fatal("dropped before the replay was complete")
		}
		updates <- revUpdate{synced: true}
		synctest.Wait()
		if l.Revoked("", "", "", "gone") || !l.Revoked("", "", "", "kept") || !l.synced.Load() {
			t.Fatal("replay not applied")
		}
	})
}

// The list holds at most max entries and counts what it refused; an entry
// that is not one under its own key is ignored.
func TestRevocationListBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, updates := runList(t, 2)
		exp := time.Now().Add(time.Hour)
		for i := range 3 {
			updates <- entry(t, Revocation{Kind: KindJTI, Value: fmt.Sprint(i), Expires: exp})
		}
		forged := entry(t, Revocation{Kind: KindJTI, Value: "x", Expires: exp})
		forged.key = "jti.0000"
		updates <- forged
		updates <- revUpdate{key: "sub.1", value: []byte("not json")}
		synctest.Wait()
		if l.len() != 2 || l.refused.Load() != 1 || l.Revoked("", "", "x", "") {
			t.Fatalf("%d entries, %d refused", l.len(), l.refused.Load())
		}
	})
}
