# The Elixir side: HexpackBridge starts priv/python/grpc_server.py through a Port,
# a Python gRPC client checks the server it started, and the bridge stops it cleanly.
#
#     HEXPACK_BRIDGE_PYTHON=/path/to/python mix run examples/elixir_bridge.exs
#
# The interpreter needs priv/python/requirements.txt installed. Raises (exit 1) on any
# unexpected answer; the last line is "elixir_bridge: N checks passed".

defmodule ElixirBridgeExample do
  def check(label, true, shown) do
    IO.puts("ok  #{label}: #{shown}")
    1
  end

  def check(label, _, shown), do: raise("#{label}: unexpected #{inspect(shown)}")

  def run do
    python = System.get_env("HEXPACK_BRIDGE_PYTHON") || "python3"
    {:ok, script} = HexpackBridge.server_script()

    checks =
      check(
        "server script",
        File.regular?(script) and String.ends_with?(script, "priv/python/grpc_server.py"),
        Path.relative_to_cwd(script)
      )

    {:ok, resolved} = HexpackBridge.python_executable()
    checks = checks + check("python", File.exists?(resolved), resolved)

    bridge = HexpackBridge.start!()
    checks = checks + check("started", is_integer(bridge.port) and bridge.port > 0, "port #{bridge.port}")

    client = Path.join(__DIR__, "python_client.py")

    {output, status} =
      System.cmd(python, [client, "--address", "127.0.0.1:#{bridge.port}"], stderr_to_stdout: true)

    IO.write(output |> String.split("\n", trim: true) |> Enum.map_join("", &"    #{&1}\n"))

    checks =
      checks +
        check(
          "python client against the Elixir-started server",
          status == 0 and output =~ ~r/python_client: \d+ checks passed/,
          "exit #{status}"
        )

    checks = checks + check("stopped", HexpackBridge.stop(bridge) == :ok, ":ok")

    {:error, error} = HexpackBridge.start(python: "/nonexistent/python3")

    checks =
      checks +
        check(
          "a missing interpreter is explained",
          error.message =~ "/nonexistent/python3",
          error.message
        )

    IO.puts("elixir_bridge: #{checks} checks passed")
  end
end

ElixirBridgeExample.run()
