package translate

import (
	"context"
	"errors"
	"fmt"

	translate "cloud.google.com/go/translate/apiv3"
	"cloud.google.com/go/translate/apiv3/translatepb"
	"google.golang.org/api/option"
)

// CloudConfig sets up Google Cloud Translation (v3, gRPC).
type CloudConfig struct {
	// Project is the Google Cloud project the requests are billed to.
	Project string
	// Location is the service's region ("global" when empty).
	Location string
	// Model is a model resource name; empty is the service's default (NMT).
	Model string
	// Endpoint is the service's host:port; empty means Google's.
	Endpoint string
	// ClientOptions are added after Endpoint (credentials, dial options).
	// Without any, Application Default Credentials are used.
	ClientOptions []option.ClientOption
}

// Cloud is a Translator backed by Google Cloud Translation's TranslateText.
type Cloud struct {
	cfg    CloudConfig
	parent string
	client *translate.TranslationClient
}

var _ Translator = (*Cloud)(nil)

// NewCloud connects a client; Close releases it.
func NewCloud(ctx context.Context, cfg CloudConfig) (*Cloud, error) {
	if cfg.Project == "" {
		return nil, errors.New("cloud translation: a project is needed")
	}
	if cfg.Location == "" {
		cfg.Location = "global"
	}
	var opts []option.ClientOption
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	opts = append(opts, cfg.ClientOptions...)
	c, err := translate.NewTranslationClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloud translation client: %w", err)
	}
	return &Cloud{cfg: cfg, parent: "projects/" + cfg.Project + "/locations/" + cfg.Location, client: c}, nil
}

// Close closes the client.
func (c *Cloud) Close() error { return c.client.Close() }

// Translate sends req as one TranslateText request.
func (c *Cloud) Translate(ctx context.Context, req Request) ([]string, error) {
	mime := "text/plain"
	if req.HTML {
		mime = "text/html"
	}
	resp, err := c.client.TranslateText(ctx, &translatepb.TranslateTextRequest{
		Parent: c.parent, Model: c.cfg.Model, MimeType: mime,
		SourceLanguageCode: req.Source, TargetLanguageCode: req.Target, Contents: req.Texts,
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(resp.GetTranslations()))
	for i, t := range resp.GetTranslations() {
		out[i] = t.GetTranslatedText()
	}
	return out, nil
}
