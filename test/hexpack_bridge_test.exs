defmodule HexpackBridgeTest do
  # Not async: some tests change the application env and HEXPACK_BRIDGE_PYTHON.
  use ExUnit.Case, async: false

  import ExUnit.CaptureLog

  alias HexpackBridge.{Error, Python}

  @client Path.expand("support/bridge_client.py", __DIR__)

  # HEXPACK_BRIDGE_PYTHON may be set by whoever runs the suite (nox/pytest point it at the
  # interpreter that has the requirements); tests that change it put it back.
  setup do
    original = System.get_env("HEXPACK_BRIDGE_PYTHON")

    on_exit(fn ->
      Application.delete_env(:hexpack_bridge, :python_executable)

      if original,
        do: System.put_env("HEXPACK_BRIDGE_PYTHON", original),
        else: System.delete_env("HEXPACK_BRIDGE_PYTHON")
    end)
  end

  defp os_alive?(os_pid) do
    {_, status} = System.cmd("/bin/sh", ["-c", "kill -0 \"$1\" 2>/dev/null", "sh", "#{os_pid}"])
    status == 0
  end

  defp wait_until_gone(os_pid, ms \\ 5_000) do
    cond do
      not os_alive?(os_pid) -> true
      ms <= 0 -> false
      true -> Process.sleep(50) && wait_until_gone(os_pid, ms - 50)
    end
  end

  defp call_client(bridge) do
    {:ok, dir} = Python.priv_python_dir()

    {out, 0} =
      System.cmd(bridge.python, [@client, "#{bridge.port}"],
        env: [{"PYTHONPATH", dir}],
        stderr_to_stdout: true
      )

    out
  end

  describe "start/1 and stop/1 with the real server" do
    test "starts from priv/python, answers health, Ping and Execute, and stops with exit 0" do
      {:ok, bridge} = HexpackBridge.start()
      assert %HexpackBridge{port: port, os_pid: os_pid} = bridge
      assert port > 0
      assert bridge.script =~ ~r{/priv/python/grpc_server\.py$}
      assert {:ok, bridge.script} == HexpackBridge.server_script()

      out = call_client(bridge)
      assert out =~ ~s("health": "SERVING")
      assert out =~ ~s("ping": "from elixir")
      assert out =~ ~s("version": "#{Mix.Project.config()[:version]}")
      assert out =~ ~s("add": 42)
      assert out =~ ~s("fail": ["ValueError", "no"])

      started = System.monotonic_time(:millisecond)
      assert :ok = HexpackBridge.stop(bridge)
      assert System.monotonic_time(:millisecond) - started < 5_000
      refute os_alive?(os_pid)
      refute Process.alive?(bridge.pid)
      assert :ok = HexpackBridge.stop(bridge)
    end

    test "two servers get two free ports" do
      a = HexpackBridge.start!()
      b = HexpackBridge.start!()
      assert a.port != b.port
      assert :ok = HexpackBridge.stop(a)
      assert :ok = HexpackBridge.stop(b)
    end

    test "the Python server exits when its owner dies (stdin closes)" do
      {:ok, bridge} = HexpackBridge.start(link: false)
      Process.exit(bridge.pid, :kill)
      assert wait_until_gone(bridge.os_pid)
    end

    test "a server that dies is reported and its owner stops" do
      {:ok, bridge} = HexpackBridge.start(link: false)
      ref = Process.monitor(bridge.pid)

      log =
        capture_log(fn ->
          System.cmd("/bin/sh", ["-c", "kill -s KILL \"$1\"", "sh", "#{bridge.os_pid}"])
          assert_receive {:DOWN, ^ref, :process, _, {:shutdown, {:server_exited, _}}}, 5_000
        end)

      assert log =~ "exited with status"
    end

    test "a port in use: the error carries the server's own line" do
      a = HexpackBridge.start!()

      assert {:error, %Error{reason: :exited, message: message}} =
               HexpackBridge.start(port: a.port)

      assert message =~ "exited with status 1 before it was ready: "
      assert message =~ "hexpack_bridge: cannot listen on 127.0.0.1:#{a.port}: the port is in use"
      assert :ok = HexpackBridge.stop(a)
    end

    test "no READY in time is a timeout error naming the script" do
      assert {:error, %Error{reason: :timeout, message: message}} =
               HexpackBridge.start(ready_timeout: 1)

      assert message =~ ~r{did not print READY within 1 ms}
      assert message =~ "grpc_server.py"
    end

    test "it runs under a supervisor" do
      {:ok, sup} =
        Supervisor.start_link([{HexpackBridge, name: :supervised_bridge}], strategy: :one_for_one)

      %{port: port, os_pid: os_pid} = HexpackBridge.Server.info(:supervised_bridge)
      assert port > 0
      :ok = Supervisor.stop(sup)
      refute os_alive?(os_pid)
    end
  end

  describe "choosing the Python executable" do
    test "a missing interpreter names itself and where it came from" do
      assert {:error, %Error{reason: :python_not_found, message: message}} =
               HexpackBridge.start(python: "python3.99-not-here")

      assert message ==
               ~s(Python executable "python3.99-not-here" \(from the :python option\) was not found on PATH: ) <>
                 "install Python 3.10+ or point config :hexpack_bridge, :python_executable " <>
                 "or HEXPACK_BRIDGE_PYTHON at one"
    end

    test "order: option, application config, HEXPACK_BRIDGE_PYTHON, python3" do
      System.delete_env("HEXPACK_BRIDGE_PYTHON")
      assert Python.choose([]) == {"python3", "the default"}
      System.put_env("HEXPACK_BRIDGE_PYTHON", "/opt/env/python")

      assert Python.choose([]) ==
               {"/opt/env/python", "the HEXPACK_BRIDGE_PYTHON environment variable"}

      Application.put_env(:hexpack_bridge, :python_executable, "/opt/config/python")

      assert Python.choose([]) ==
               {"/opt/config/python", "config :hexpack_bridge, :python_executable"}

      assert Python.choose(python: "/opt/opt/python") == {"/opt/opt/python", "the :python option"}
    end

    test "a missing path from the environment variable is named, with its source" do
      System.put_env("HEXPACK_BRIDGE_PYTHON", "/nonexistent/bin/python3")

      assert {:error, %Error{reason: :python_not_found, message: message}} = HexpackBridge.start()

      assert message =~
               ~s("/nonexistent/bin/python3" \(from the HEXPACK_BRIDGE_PYTHON environment variable\) was not found:)
    end

    @tag :tmp_dir
    test "an interpreter without grpcio gives the server's one-line explanation", %{tmp_dir: tmp} do
      {_, 0} = System.cmd("python3", ["-m", "venv", "--without-pip", Path.join(tmp, "venv")])
      python = Path.join(tmp, "venv/bin/python")

      assert {:error, %Error{reason: :exited, message: message}} =
               HexpackBridge.start(python: python)

      {:ok, dir} = Python.priv_python_dir()
      requirements = Path.join(dir, "requirements.txt")
      assert message =~ "exited with status 3 before it was ready: "

      assert message =~
               ~r/grpcio, grpcio-health-checking and protobuf are not installed for python3\.\d+ \(/

      assert String.ends_with?(message, "pip install -r " <> Path.relative_to_cwd(requirements))
    end
  end

  test "PYTHONPATH puts priv/python first and keeps what was there" do
    assert Python.pythonpath("/p", nil) == "/p"
    assert Python.pythonpath("/p", "") == "/p"
    assert Python.pythonpath("/p", "/a:/b") == "/p:/a:/b"
  end
end
