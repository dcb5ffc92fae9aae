package store

import "testing"

func TestEnvKeyString(t *testing.T) {
	tests := []struct {
		key  EnvKey
		want string
	}{
		{EnvKey{Project: "shop", Env: "production"}, "shop/production"},
		{EnvKey{Project: "a.b-c_1", Env: "Staging.2"}, "a.b-c_1/Staging.2"},
		{(&Rollout{Project: "web", Env: "staging"}).Key(), "web/staging"},
		{(&Environment{Project: "web", Name: "production"}).Key(), "web/production"},
		{(&FlagOverride{Project: "api", Env: "dev", Flag: "beta"}).Key(), "api/dev"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestParseEnvKey(t *testing.T) {
	tests := []struct {
		in      string
		want    EnvKey
		wantErr bool
	}{
		{in: "shop/production", want: EnvKey{Project: "shop", Env: "production"}},
		{in: "a.b-c_1/Staging.2", want: EnvKey{Project: "a.b-c_1", Env: "Staging.2"}},
		{in: "", wantErr: true},
		{in: "shop", wantErr: true},
		{in: "/production", wantErr: true},
		{in: "shop/", wantErr: true},
		{in: "shop/prod/eu", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseEnvKey(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseEnvKey(%q) = %#v, %v; want %#v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseEnvKey(%q).String() = %q, want it back", tt.in, got.String())
		}
	}
}
