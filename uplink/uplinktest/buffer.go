package uplinktest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writers: tests hand it to a
// logger or a command's output and read it afterwards.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
