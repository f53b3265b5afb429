package hotlist

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/lprd/lprd/internal/atomicfile"
)

// DefaultK is how many of a read's best candidates a Store hashes: the cost per vehicle is
// at most DefaultK Argon2id hashes.
const DefaultK = 3

// Store holds the list a device matches against. Match may run concurrently with Apply
// (the list is swapped atomically); Apply calls are serialised.
type Store struct {
	key  *SiteKey
	site string
	keys []ed25519.PublicKey
	path string // the state folder's copy ("" for none)
	k    int

	mu      sync.Mutex // serialises Apply and Load
	list    atomic.Pointer[List]
	updates atomic.Uint64
	refused atomic.Uint64
}

// NewStore returns an empty store for site's key. keys verify lists (the backend's signing
// keys); statePath, when set, is where Apply keeps the newest list so it survives a restart.
// k is how many candidates Match hashes (DefaultK when 0).
func NewStore(key *SiteKey, site string, keys []ed25519.PublicKey, statePath string, k int) *Store {
	if k <= 0 {
		k = DefaultK
	}
	return &Store{key: key, site: site, keys: keys, path: statePath, k: k}
}

// List returns the current list, nil before the first.
func (s *Store) List() *List { return s.list.Load() }

// Updates and Refused count applied and refused updates (Apply).
func (s *Store) Updates() uint64 { return s.updates.Load() }

// Refused counts updates Apply refused.
func (s *Store) Refused() uint64 { return s.refused.Load() }

// ErrNotNewer is returned for a list older than the current one, ErrCurrent for the
// current version again (a retained update seen at each reconnection).
var (
	ErrNotNewer = errors.New("hotlist version is older than the current one")
	ErrCurrent  = errors.New("hotlist version is the current one")
)

// check verifies data and that it is for this store's site and key and newer than now.
func (s *Store) check(data []byte) (*List, error) {
	l, err := Verify(data, s.keys)
	if err != nil {
		return nil, err
	}
	if l.Site != s.site {
		return nil, fmt.Errorf("hotlist of site %q, this device is of site %q", l.Site, s.site)
	}
	if id := s.key.ID(); l.KeyID != id {
		return nil, fmt.Errorf("hotlist made with site key %x, this device holds site key %x", l.KeyID, id)
	}
	if cur := s.list.Load(); cur != nil && l.Version == cur.Version {
		return nil, fmt.Errorf("%w: version %d", ErrCurrent, l.Version)
	} else if cur != nil && l.Version < cur.Version {
		return nil, fmt.Errorf("%w: version %d, current %d", ErrNotNewer, l.Version, cur.Version)
	}
	return l, nil
}

// Load reads a list file (the env file's LPRD_HOTLIST or the state folder's copy) and uses
// it when it is newer than the current list; an older or equal one is left unused (nil).
func (s *Store) Load(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hotlist %s: %w", path, err)
	}
	l, err := s.check(data)
	if errors.Is(err, ErrNotNewer) || errors.Is(err, ErrCurrent) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hotlist %s: %w", path, err)
	}
	s.list.Store(l)
	return nil
}

// Apply verifies a signed update and, when it is for this site and key and newer, writes it
// to the state folder (write, sync, rename: a crash leaves the old or the new file) and then
// uses it. On any error the current list stays. An update of the current version again (a
// retained message seen at each reconnection) gives ErrCurrent and is not counted as refused.
func (s *Store) Apply(data []byte) (*List, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.check(data)
	if err != nil {
		if !errors.Is(err, ErrCurrent) {
			s.refused.Add(1)
		}
		return nil, err
	}
	if s.path != "" {
		if err := writeAtomic(s.path, data); err != nil {
			s.refused.Add(1)
			return nil, err
		}
	}
	s.list.Store(l)
	s.updates.Add(1)
	return l, nil
}

func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("hotlist %s: %w", path, err)
	}
	return nil
}

// Match is what a Store found for one read.
type Match struct {
	// Digests are the digests of the first candidates (at most the store's k), in order.
	Digests []Digest
	// Hit is the index of the first candidate on the list, -1 for none.
	Hit int
}

// Match hashes the first k candidates (best first) with the current list's parameters
// (DefaultParams before the first list) and looks each up. A candidate whose canonical form
// repeats an earlier one is not hashed again.
func (s *Store) Match(cands []string) Match {
	l := s.list.Load()
	p := DefaultParams
	if l != nil {
		p = l.Params
	}
	m := Match{Hit: -1}
	seen := make(map[string]Digest, s.k)
	for i, c := range cands {
		if i >= s.k {
			break
		}
		cc := Canonical(c)
		d, ok := seen[cc]
		if !ok {
			d = Hash(s.key, s.site, p, cc)
			seen[cc] = d
		}
		m.Digests = append(m.Digests, d)
		if m.Hit < 0 && l != nil && d != (Digest{}) && l.Contains(d) {
			m.Hit = i
		}
	}
	clear(seen)
	return m
}
