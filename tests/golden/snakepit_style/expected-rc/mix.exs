defmodule Snakepit.MixProject do
  use Mix.Project

  @version "0.7.0-rc.1"
  @source_url "https://github.com/nshkrdotcom/snakepit"

  def project do
    [
      app: :snakepit,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      description: "High-performance pooler for Python workers over gRPC",
      package: package(),
      docs: docs()
    ]
  end

  def application do
    [extra_applications: [:logger], mod: {Snakepit.Application, []}]
  end

  defp deps do
    [
      {:jason, "~> 1.4"},
      # happens to equal our own version: must not be touched
      {:grpc, "~> 0.6.1"},
      {:protobuf, "~> 0.14.0"},
      {:ex_doc, "~> 0.34", only: :dev, runtime: false}
    ]
  end

  defp package do
    [
      licenses: ["MIT"],
      links: %{"GitHub" => @source_url},
      files: ~w(lib priv/python .formatter.exs mix.exs README.md LICENSE CHANGELOG.md)
    ]
  end

  defp docs do
    [main: "readme", source_ref: "v#{@version}", extras: ["README.md", "CHANGELOG.md"]]
  end
end
