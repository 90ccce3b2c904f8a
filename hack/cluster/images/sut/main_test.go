package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{path: "/healthz", wantCode: http.StatusOK, wantBody: "ok"},
		{path: "/greeting", wantCode: http.StatusOK, wantBody: "hello from sut v7 in shop"},
		{path: "/sum?a=2&b=3", wantCode: http.StatusOK, wantBody: "5"},
		{path: "/sum?a=-4&b=3", wantCode: http.StatusOK, wantBody: "-1"},
		{path: "/sum?a=two&b=3", wantCode: http.StatusBadRequest, wantBody: `a and b must be integers, got a="two" b="3"`},
		{path: "/sum?a=2", wantCode: http.StatusBadRequest, wantBody: `a and b must be integers, got a="2" b=""`},
		{path: "/nothing", wantCode: http.StatusNotFound, wantBody: "404 page not found"},
	}
	h := handler("v7", "shop")
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, tt.path, nil))
			got := struct {
				Code int
				Body string
			}{rec.Code, strings.TrimSpace(rec.Body.String())}
			want := struct {
				Code int
				Body string
			}{tt.wantCode, tt.wantBody}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}
