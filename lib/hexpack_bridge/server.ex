defmodule HexpackBridge.Server do
  @moduledoc """
  A process that owns one Python bridge server (an OS process started through a `Port`).

  It starts `python3 priv/python/grpc_server.py --port 0 --exit-on-stdin-eof`, waits for the
  `READY <port>` line, forwards the server's log lines to `Logger`, and on stop sends SIGTERM
  and waits for the exit. Because stdin is the Port, the Python server also exits when this
  process (or the whole VM) goes away.

  Most code calls `HexpackBridge.start/1`; this module's `child_spec/1` puts the server under a
  supervisor.
  """

  use GenServer
  require Logger

  alias HexpackBridge.{Error, Python}

  @ready_timeout 15_000
  @stop_timeout 5_000
  @tail_lines 20

  defstruct [:port, :os_pid, :tcp_port, :python, :script, :host, tail: [], partial: ""]

  @doc false
  def child_spec(opts) do
    %{id: Keyword.get(opts, :name, __MODULE__), start: {__MODULE__, :start_link, [opts]}}
  end

  @doc "Starts the server linked to the caller; for supervisors. See `HexpackBridge.start/1`."
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts \\ []) do
    GenServer.start_link(__MODULE__, opts, gen_opts(opts))
  end

  @doc "Starts the server without a link."
  @spec start(keyword()) :: GenServer.on_start()
  def start(opts \\ []) do
    GenServer.start(__MODULE__, opts, gen_opts(opts))
  end

  @doc "The running server's details: `%{port:, os_pid:, python:, script:, host:}`."
  @spec info(GenServer.server()) :: map()
  def info(server), do: GenServer.call(server, :info)

  @doc "Sends SIGTERM, waits up to `timeout` ms for exit status 0, then the process stops."
  @spec stop(GenServer.server(), timeout()) :: :ok | {:error, Error.t()}
  def stop(server, timeout \\ @stop_timeout) do
    GenServer.call(server, {:stop, timeout}, timeout + 2_000)
  end

  defp gen_opts(opts) do
    timeout = Keyword.get(opts, :ready_timeout, @ready_timeout) + 5_000
    [timeout: timeout] ++ if(opts[:name], do: [name: opts[:name]], else: [])
  end

  # --- callbacks ------------------------------------------------------------

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)

    with {:ok, python} <- Python.resolve(opts),
         {:ok, dir} <- Python.priv_python_dir() do
      launch(python, dir, opts)
    else
      {:error, %Error{} = error} -> {:stop, {:shutdown, error}}
    end
  end

  defp launch(python, dir, opts) do
    script = Path.join(dir, "grpc_server.py")
    host = Keyword.get(opts, :host, "127.0.0.1")
    tcp_port = Keyword.get(opts, :port, 0)

    args =
      [script, "--host", host, "--port", Integer.to_string(tcp_port), "--exit-on-stdin-eof"] ++
        Keyword.get(opts, :args, [])

    env =
      [{"PYTHONPATH", Python.pythonpath(dir)}, {"PYTHONUNBUFFERED", "1"}] ++
        Keyword.get(opts, :env, [])

    port =
      Port.open({:spawn_executable, python}, [
        :binary,
        :exit_status,
        :use_stdio,
        :stderr_to_stdout,
        :hide,
        {:line, 16_384},
        args: args,
        env: for({k, v} <- env, do: {String.to_charlist(k), String.to_charlist(v)})
      ])

    {:os_pid, os_pid} = Port.info(port, :os_pid)
    state = %__MODULE__{port: port, os_pid: os_pid, python: python, script: script, host: host}
    timeout = Keyword.get(opts, :ready_timeout, @ready_timeout)
    await_ready(state, System.monotonic_time(:millisecond) + timeout, timeout)
  end

  defp await_ready(%{port: port} = state, deadline, timeout) do
    remaining = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {^port, {:data, {:noeol, chunk}}} ->
        await_ready(%{state | partial: state.partial <> chunk}, deadline, timeout)

      {^port, {:data, {:eol, chunk}}} ->
        line = state.partial <> chunk
        state = %{state | partial: ""}

        case ready_port(line) do
          {:ok, tcp_port} ->
            # a READY first seen after the deadline (it waited in the mailbox while this process was
            # not scheduled) is as late as none: the timeout holds however busy the machine is
            if System.monotonic_time(:millisecond) > deadline,
              do: timed_out(state, timeout),
              else: {:ok, %{state | tcp_port: tcp_port}}

          :error ->
            await_ready(remember(state, line), deadline, timeout)
        end

      {^port, {:exit_status, status}} ->
        {:stop, {:shutdown, exited_early(state, status)}}
    after
      remaining -> timed_out(state, timeout)
    end
  end

  defp timed_out(state, timeout) do
    kill(state.os_pid, "KILL")
    flush_port(state.port)

    {:stop,
     {:shutdown,
      %Error{
        reason: :timeout,
        output: output(state),
        message:
          "the Python server (#{state.python} #{state.script}) did not print READY within " <>
            "#{timeout} ms" <> last_line_suffix(state)
      }}}
  end

  defp ready_port("READY " <> digits) do
    case Integer.parse(String.trim(digits)) do
      {n, ""} when n > 0 -> {:ok, n}
      _ -> :error
    end
  end

  defp ready_port(_), do: :error

  defp exited_early(state, status) do
    %Error{
      reason: :exited,
      output: output(state),
      message:
        "the Python server (#{state.python} #{state.script}) exited with status #{status} " <>
          "before it was ready" <> last_line_suffix(state)
    }
  end

  @impl true
  def handle_call(:info, _from, state) do
    {:reply,
     %{
       port: state.tcp_port,
       os_pid: state.os_pid,
       python: state.python,
       script: state.script,
       host: state.host
     }, state}
  end

  def handle_call({:stop, timeout}, _from, state) do
    reply = shut_down(state, timeout)
    {:stop, :normal, reply, %{state | port: nil}}
  end

  @impl true
  def handle_info({port, {:data, {:noeol, chunk}}}, %{port: port} = state) do
    {:noreply, %{state | partial: state.partial <> chunk}}
  end

  def handle_info({port, {:data, {:eol, chunk}}}, %{port: port} = state) do
    line = state.partial <> chunk
    log_line(line)
    {:noreply, remember(%{state | partial: ""}, line)}
  end

  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    Logger.error(
      "hexpack_bridge: the Python server (os pid #{state.os_pid}) exited with status #{status}" <>
        last_line_suffix(state)
    )

    {:stop, {:shutdown, {:server_exited, status}}, %{state | port: nil}}
  end

  def handle_info({:EXIT, port, _reason}, %{port: port} = state), do: {:noreply, state}
  def handle_info(_message, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, %{port: port} = state) when is_port(port) do
    shut_down(state, @stop_timeout)
    :ok
  end

  def terminate(_reason, _state), do: :ok

  # --- stopping ----------------------------------------------------------------

  defp shut_down(%{port: port, os_pid: os_pid} = state, timeout) do
    kill(os_pid, "TERM")

    case await_exit(port, timeout) do
      {:ok, 0} ->
        :ok

      {:ok, status} ->
        {:error,
         %Error{
           reason: :stop_failed,
           output: output(state),
           message:
             "the Python server (os pid #{os_pid}) exited with status #{status} on SIGTERM" <>
               last_line_suffix(state)
         }}

      :timeout ->
        kill(os_pid, "KILL")
        await_exit(port, 1_000)

        {:error,
         %Error{
           reason: :stop_failed,
           output: output(state),
           message:
             "the Python server (os pid #{os_pid}) did not exit within #{timeout} ms of SIGTERM; " <>
               "it was killed"
         }}
    end
  end

  defp await_exit(port, timeout) do
    receive do
      {^port, {:exit_status, status}} -> {:ok, status}
      {^port, {:data, {_, line}}} -> log_line(line) && await_exit(port, timeout)
    after
      timeout -> :timeout
    end
  end

  # The shell's kill builtin: present wherever /bin/sh is, unlike a kill executable.
  defp kill(os_pid, signal) do
    System.cmd("/bin/sh", [
      "-c",
      "kill -s #{signal} \"$1\" 2>/dev/null",
      "sh",
      Integer.to_string(os_pid)
    ])

    :ok
  end

  defp flush_port(port) do
    receive do
      {^port, _} -> flush_port(port)
    after
      100 -> :ok
    end
  end

  # --- output ------------------------------------------------------------------

  defp remember(state, line) do
    %{state | tail: Enum.take([line | state.tail], @tail_lines)}
  end

  defp output(state), do: state.tail |> Enum.reverse() |> Enum.join("\n")

  defp last_line_suffix(%{tail: [last | _]}), do: ": " <> last
  defp last_line_suffix(_state), do: " (it printed nothing)"

  defp log_line("hexpack_bridge " <> rest) do
    case String.split(rest, " ", parts: 2) do
      ["ERROR", message] -> Logger.error("hexpack_bridge: " <> message)
      ["WARNING", message] -> Logger.warning("hexpack_bridge: " <> message)
      ["INFO", message] -> Logger.debug("hexpack_bridge: " <> message)
      _ -> Logger.debug("hexpack_bridge: " <> rest)
    end

    true
  end

  defp log_line(line) do
    Logger.debug("hexpack_bridge: " <> line)
    true
  end
end
