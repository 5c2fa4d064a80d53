#!/usr/bin/env escript
%% The Erlang side of bench/dist.py: an echo gen_server, or a client that measures.
%%
%%   escript bench/dist.escript server NAME COOKIE
%%       starts node NAME with an echo gen_server registered as `echo`, prints
%%       "ready", and runs until its standard input closes.
%%   escript bench/dist.escript client NAME COOKIE
%%       starts node NAME, prints "ready", then for each line
%%       "NODE CALLS CASTS" on its standard input measures against {echo, NODE}
%%       and prints one JSON line: {"call_us": U, "casts_per_s": C}.
%%
%% The echo server answers a call with the request itself, counts casts, and
%% answers the call `count` with the number of casts since the last `count`.
%% The request is {echo, 12345, <<"hello">>}, as on the Python side.
-module(dist_bench).
-behaviour(gen_server).
-mode(compile).
-export([main/1, init/1, handle_call/3, handle_cast/2]).

-define(REQUEST, {echo, 12345, <<"hello">>}).
-define(WARMUP, 200).

main(["server", Name, Cookie]) ->
    start_node(Name, Cookie),
    {ok, _} = gen_server:start({local, echo}, ?MODULE, 0, []),
    io:format("ready~n"),
    wait_for_eof();
main(["client", Name, Cookie]) ->
    start_node(Name, Cookie),
    io:format("ready~n"),
    client_loop().

start_node(Name, Cookie) ->
    {ok, _} = net_kernel:start([list_to_atom(Name), longnames]),
    erlang:set_cookie(node(), list_to_atom(Cookie)).

wait_for_eof() ->
    case io:get_line("") of
        eof -> halt(0);
        _ -> wait_for_eof()
    end.

client_loop() ->
    case io:get_line("") of
        eof ->
            halt(0);
        Line ->
            [Node, Calls, Casts] = string:lexemes(string:trim(Line), " "),
            Server = {echo, list_to_atom(Node)},
            Us = latency(Server, list_to_integer(Calls)),
            Rate = throughput(Server, list_to_integer(Casts)),
            io:format("{\"call_us\": ~s, \"casts_per_s\": ~s}~n",
                      [float_to_list(Us, [{decimals, 3}]), integer_to_list(round(Rate))]),
            client_loop()
    end.

%% Microseconds per call, over N sequential calls (after a warm-up).
latency(Server, N) ->
    calls(Server, ?WARMUP),
    T0 = erlang:monotonic_time(nanosecond),
    calls(Server, N),
    (erlang:monotonic_time(nanosecond) - T0) / N / 1000.

calls(_Server, 0) -> ok;
calls(Server, N) ->
    ?REQUEST = gen_server:call(Server, ?REQUEST),
    calls(Server, N - 1).

%% Casts per second: N casts, closed by one call that reports how many arrived.
throughput(Server, N) ->
    _ = gen_server:call(Server, count),
    T0 = erlang:monotonic_time(nanosecond),
    casts(Server, N),
    N = gen_server:call(Server, count, 60000),
    N / ((erlang:monotonic_time(nanosecond) - T0) / 1.0e9).

casts(_Server, 0) -> ok;
casts(Server, N) ->
    gen_server:cast(Server, {tick, N}),
    casts(Server, N - 1).

init(Count) -> {ok, Count}.

handle_call(count, _From, Count) -> {reply, Count, 0};
handle_call(Request, _From, Count) -> {reply, Request, Count}.

handle_cast(_Request, Count) -> {noreply, Count + 1}.
