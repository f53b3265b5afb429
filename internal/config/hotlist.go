package config

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/hotlist"
)

// maxTextLife is the longest a read's text may stay in fusion: until its result
// (LPRD_FUSION_MAX_DELAY at most) plus LPRD_FUSION_RETAIN.
const maxTextLife = 3 * time.Minute

// checkHotlist checks the send mode's keys and opens the hotlist as the daemon will.
func (c *Config) checkHotlist(bad map[string]bool) Problems {
	var errs Problems
	add := func(key, val string, err error) {
		errs = append(errs, &KeyError{Key: key, Value: val, Err: err})
	}
	if life := c.FusionMaxDelay + c.FusionRetain; life > maxTextLife {
		add("LPRD_FUSION_RETAIN", c.FusionRetain.String(), fmt.Errorf(
			"with LPRD_FUSION_MAX_DELAY=%s a read's text could stay %s; together they must not exceed %s", c.FusionMaxDelay, life, maxTextLife))
	}
	needs := c.SendMode != "all" || c.Hotlist != ""
	for _, k := range []struct{ key, val string }{{"LPRD_HOTLIST_KEY", c.HotlistKey}, {"LPRD_BACKEND_VERIFY_KEY", c.BackendVerifyKey}} {
		if needs && k.val == "" && !bad[k.key] {
			add(k.key, "", fmt.Errorf("required with LPRD_SEND_MODE=%s or LPRD_HOTLIST", c.SendMode))
		}
	}
	if len(errs) > 0 || bad["LPRD_HOTLIST_KEY"] || bad["LPRD_BACKEND_VERIFY_KEY"] || bad["LPRD_HOTLIST"] || bad["LPRD_STATE_DIR"] {
		return errs
	}
	if _, err := c.OpenHotlist(); err != nil {
		var ke *KeyError
		if errors.As(err, &ke) {
			return append(errs, ke)
		}
		add("LPRD_HOTLIST", c.Hotlist, err)
	}
	return errs
}

// hotlistState is the state folder's copy of the newest hotlist update.
func (c *Config) hotlistState() string { return filepath.Join(c.StateDir, "hotlist") }

// OpenHotlist loads the site key, the backend's verifying key and the hotlist (the env
// file's and the state folder's copy, the newer wins) and returns the send mode's gate.
// Without LPRD_HOTLIST_KEY (mode all) the gate passes every read and holds no list.
func (c *Config) OpenHotlist() (*hotlist.Gate, error) {
	mode, err := hotlist.ParseMode(c.SendMode)
	if err != nil {
		return nil, &KeyError{Key: "LPRD_SEND_MODE", Value: c.SendMode, Err: err}
	}
	if c.HotlistKey == "" {
		return hotlist.NewGate(mode, nil)
	}
	key, err := hotlist.LoadSiteKey(c.HotlistKey)
	if err != nil {
		return nil, &KeyError{Key: "LPRD_HOTLIST_KEY", Value: c.HotlistKey, Err: fmt.Errorf("%w (the site's key, from `lprctl hotlist key`, mode 0600)", err)}
	}
	var keys []ed25519.PublicKey
	if c.BackendVerifyKey != "" {
		if keys, err = envelope.LoadBackendVerifyKeys(c.BackendVerifyKey); err != nil {
			return nil, &KeyError{Key: "LPRD_BACKEND_VERIFY_KEY", Value: c.BackendVerifyKey, Err: fmt.Errorf("%w (backend-signing.pub from `lprctl keygen -backend`)", err)}
		}
	}
	store := hotlist.NewStore(key, c.Site, keys, c.hotlistState(), 0)
	if c.Hotlist != "" {
		if err := store.Load(c.Hotlist); err != nil {
			return nil, &KeyError{Key: "LPRD_HOTLIST", Value: c.Hotlist, Err: err}
		}
	}
	if _, err := os.Stat(c.hotlistState()); err == nil {
		if err := store.Load(c.hotlistState()); err != nil {
			return nil, &KeyError{Key: "LPRD_STATE_DIR", Value: c.StateDir, Err: fmt.Errorf("%w; remove it to fall back to LPRD_HOTLIST", err)}
		}
	}
	return hotlist.NewGate(mode, store)
}
