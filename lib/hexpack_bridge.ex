defmodule HexpackBridge do
  @moduledoc """
  Runs the Python gRPC bridge that ships in this package's `priv/python/`.

      {:ok, bridge} = HexpackBridge.start()
      bridge.port
      #=> 40123   (a gRPC server on 127.0.0.1:40123: hexpack_bridge.Bridge + grpc.health.v1)
      :ok = HexpackBridge.stop(bridge)

  The server is `priv/python/grpc_server.py`, found through `:code.priv_dir(:hexpack_bridge)`,
  run by the Python executable chosen from (first that is set):

    1. the `:python` option,
    2. `config :hexpack_bridge, :python_executable, "/usr/bin/python3.12"`,
    3. the `HEXPACK_BRIDGE_PYTHON` environment variable,
    4. `"python3"`.

  `priv/python` is put first on `PYTHONPATH` (before any existing value). The interpreter
  needs `priv/python/requirements.txt` installed; when it is not, `start/1` returns the
  server's own one-line explanation, e.g.
  `grpcio is not installed for python3.12 (...): pip install -r .../requirements.txt`.
  """

  alias HexpackBridge.{Error, Python, Server}

  defstruct [:pid, :port, :os_pid, :python, :script, :host]

  @typedoc """
  A running bridge: `port` is the TCP port it listens on, `pid` the owning
  `HexpackBridge.Server`, `os_pid` the Python process.
  """
  @type t :: %__MODULE__{
          pid: pid(),
          port: pos_integer(),
          os_pid: pos_integer(),
          python: String.t(),
          script: String.t(),
          host: String.t()
        }

  @doc """
  Starts the Python server and waits until it prints `READY <port>`.

  Options:

    * `:host` - address to listen on (default `"127.0.0.1"`)
    * `:port` - TCP port, `0` picks a free one (default `0`)
    * `:python` - the Python executable (see the module doc for the order)
    * `:ready_timeout` - milliseconds to wait for `READY` (default `15_000`)
    * `:env` - extra environment, a list of `{"NAME", "value"}`
    * `:args` - extra command-line arguments for `grpc_server.py`
    * `:link` - link the owning process to the caller (default `true`)

  Returns `{:error, %HexpackBridge.Error{}}` when the interpreter is missing, the server
  exits early (its last output line is in the message) or does not become ready in time.
  """
  @spec start(keyword()) :: {:ok, t()} | {:error, Error.t()}
  def start(opts \\ []) do
    case Server.start(opts) do
      {:ok, pid} ->
        if Keyword.get(opts, :link, true), do: Process.link(pid)
        info = Server.info(pid)
        {:ok, struct!(__MODULE__, Map.put(info, :pid, pid))}

      {:error, {:shutdown, %Error{} = error}} ->
        {:error, error}

      {:error, reason} ->
        {:error,
         %Error{reason: :exited, message: "could not start the bridge: #{inspect(reason)}"}}
    end
  end

  @doc "Like `start/1`, but raises `HexpackBridge.Error`."
  @spec start!(keyword()) :: t()
  def start!(opts \\ []) do
    case start(opts) do
      {:ok, bridge} -> bridge
      {:error, error} -> raise error
    end
  end

  @doc """
  Stops the server: SIGTERM, then waits up to `timeout` ms for it to exit (status 0 gives `:ok`).
  A server that does not exit in time is killed and an error returned. Stopping a bridge
  that has already stopped returns `:ok`.
  """
  @spec stop(t() | pid(), timeout()) :: :ok | {:error, Error.t()}
  def stop(bridge, timeout \\ 5_000)

  def stop(%__MODULE__{pid: pid}, timeout), do: stop(pid, timeout)

  def stop(pid, timeout) when is_pid(pid) do
    ref = Process.monitor(pid)

    result =
      try do
        Server.stop(pid, timeout)
      catch
        # Already gone (stopped before, or the server died): nothing left to stop.
        :exit, {reason, _} when reason in [:noproc, :normal] -> :ok
        :exit, {{:shutdown, _}, _} -> :ok
      end

    Process.unlink(pid)

    receive do
      {:DOWN, ^ref, :process, ^pid, _} -> :ok
    after
      timeout -> :ok
    end

    result
  end

  @doc "The path of `priv/python/grpc_server.py`."
  @spec server_script() :: {:ok, String.t()} | {:error, Error.t()}
  defdelegate server_script(), to: Python

  @doc "The Python executable `start/1` would use, resolved to a path."
  @spec python_executable(keyword()) :: {:ok, String.t()} | {:error, Error.t()}
  defdelegate python_executable(opts \\ []), to: Python, as: :resolve

  @doc "A child spec for supervisors; the child is a `HexpackBridge.Server`."
  defdelegate child_spec(opts), to: Server
end
