defmodule HexpackBridge.MixProject do
  use Mix.Project

  @version "0.1.0"
  @source_url "https://github.com/hexpack/hexpack"

  def project do
    [
      app: :hexpack_bridge,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      description:
        "Run Python tools from Elixir over gRPC: starts the bundled Python server " <>
          "(priv/python) through a Port and stops it cleanly.",
      deps: deps(),
      package: package(),
      source_url: @source_url
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  # No Hex dependencies: the package must build and test without Hex installed.
  defp deps, do: []

  defp package do
    [
      files: ~w(lib priv/python priv/proto mix.exs README.md CHANGELOG.md LICENSE),
      licenses: ["Apache-2.0"],
      links: %{
        "GitHub" => @source_url,
        "Changelog" => "#{@source_url}/blob/main/CHANGELOG.md"
      },
      exclude_patterns: [~r/__pycache__/, ~r/\.pyc$/]
    ]
  end
end
