/* Hostile guest: impossible pointers, lengths and counts in every preview 1
 * and WASIX call it can reach. Each call prints "LABEL: ERRNO" (or OK); the
 * test holds the expected errno per label. Pointers used:
 *   OOB  = 0xFFFFFFF0 (far outside linear memory)
 *   END  = memory size - 1 (inside, but a 4- or 8-byte result cannot fit)
 *   HUGE = 0xFFFFFFFF as a length or count; NEG = 0x80000000 (negative as i32)
 * Side effects are checked after the bad call: nothing created, nothing
 * consumed, nothing sent, nothing dequeued. Needs /data (with file.txt and a
 * symlink "link"), stdin "hello\n" and environment A=b.
 * argv[1] "all" runs the table; "poll_neg" makes only the poll_oneoff call
 * with a count that is negative as an i32 (it must fail, not block). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define P1(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
#define WX(name) __attribute__((import_module("wasix_32v1"), import_name(#name)))
typedef int32_t I;
typedef int64_t L;

I r_args_get(I, I) P1(args_get);
I r_args_sizes_get(I, I) P1(args_sizes_get);
I r_environ_get(I, I) P1(environ_get);
I r_environ_sizes_get(I, I) P1(environ_sizes_get);
I r_clock_res_get(I, I) P1(clock_res_get);
I r_clock_time_get(I, L, I) P1(clock_time_get);
I r_fd_advise(I, L, L, I) P1(fd_advise);
I r_fd_allocate(I, L, L) P1(fd_allocate);
I r_fd_close(I) P1(fd_close);
I r_fd_datasync(I) P1(fd_datasync);
I r_fd_fdstat_get(I, I) P1(fd_fdstat_get);
I r_fd_fdstat_set_flags(I, I) P1(fd_fdstat_set_flags);
I r_fd_fdstat_set_rights(I, L, L) P1(fd_fdstat_set_rights);
I r_fd_filestat_get(I, I) P1(fd_filestat_get);
I r_fd_filestat_set_size(I, L) P1(fd_filestat_set_size);
I r_fd_filestat_set_times(I, L, L, I) P1(fd_filestat_set_times);
I r_fd_pread(I, I, I, L, I) P1(fd_pread);
I r_fd_prestat_get(I, I) P1(fd_prestat_get);
I r_fd_prestat_dir_name(I, I, I) P1(fd_prestat_dir_name);
I r_fd_pwrite(I, I, I, L, I) P1(fd_pwrite);
I r_fd_read(I, I, I, I) P1(fd_read);
I r_fd_readdir(I, I, I, L, I) P1(fd_readdir);
I r_fd_renumber(I, I) P1(fd_renumber);
I r_fd_seek(I, L, I, I) P1(fd_seek);
I r_fd_sync(I) P1(fd_sync);
I r_fd_tell(I, I) P1(fd_tell);
I r_fd_write(I, I, I, I) P1(fd_write);
I r_path_create_directory(I, I, I) P1(path_create_directory);
I r_path_filestat_get(I, I, I, I, I) P1(path_filestat_get);
I r_path_filestat_set_times(I, I, I, I, L, L, I) P1(path_filestat_set_times);
I r_path_link(I, I, I, I, I, I, I) P1(path_link);
I r_path_open(I, I, I, I, I, L, L, I, I) P1(path_open);
I r_path_readlink(I, I, I, I, I, I) P1(path_readlink);
I r_path_remove_directory(I, I, I) P1(path_remove_directory);
I r_path_rename(I, I, I, I, I, I) P1(path_rename);
I r_path_symlink(I, I, I, I, I) P1(path_symlink);
I r_path_unlink_file(I, I, I) P1(path_unlink_file);
I r_poll_oneoff(I, I, I, I) P1(poll_oneoff);
I r_proc_raise(I) P1(proc_raise);
I r_random_get(I, I) P1(random_get);
I r_sock_accept(I, I, I) P1(sock_accept);
I r_sock_recv(I, I, I, I, I, I) P1(sock_recv);
I r_sock_send(I, I, I, I, I) P1(sock_send);
I r_sock_shutdown(I, I) P1(sock_shutdown);
I x_sock_open(I, I, I, I) WX(sock_open);
I x_sock_bind(I, I) WX(sock_bind);
I x_sock_listen(I, I) WX(sock_listen);
I x_sock_connect(I, I) WX(sock_connect);
I x_sock_accept_v2(I, I, I, I) WX(sock_accept_v2);
I x_sock_recv_from(I, I, I, I, I, I, I) WX(sock_recv_from);
I x_sock_send_to(I, I, I, I, I, I) WX(sock_send_to);
I x_sock_status(I, I) WX(sock_status);
I x_sock_addr_local(I, I) WX(sock_addr_local);
I x_sock_addr_peer(I, I) WX(sock_addr_peer);
I x_sock_set_opt_flag(I, I, I) WX(sock_set_opt_flag);
I x_sock_get_opt_flag(I, I, I) WX(sock_get_opt_flag);
I x_sock_set_opt_time(I, I, I) WX(sock_set_opt_time);
I x_sock_get_opt_time(I, I, I) WX(sock_get_opt_time);
I x_sock_set_opt_size(I, I, L) WX(sock_set_opt_size);
I x_sock_get_opt_size(I, I, I) WX(sock_get_opt_size);
I x_resolve(I, I, I, I, I, I) WX(resolve);

#include "verdict.h"

#define OOB ((I)0xFFFFFFF0u)
#define HUGE ((I)0xFFFFFFFFu)
#define NEG ((I)0x80000000u)
#define A(p) ((I)(uintptr_t)(p))
#define S(s) A(s), (I)(sizeof(s) - 1)

static I END;   /* last byte of linear memory */
static I END8;  /* 4 bytes before the end: an 8-byte result does not fit */
static I END110;

static void row(const char *label, I err) {
  printf("%s: %s\n", label, ename(err));
}

/* Scratch space the calls may legitimately use. */
static uint8_t scratch[4096] __attribute__((aligned(16)));
static uint32_t iov[4] __attribute__((aligned(8)));
static uint32_t out32, out32b;
static uint64_t out64;
static uint8_t addr[110];
static uint8_t subs[48 * 2] __attribute__((aligned(8)));
static uint8_t events[32 * 2] __attribute__((aligned(8)));

#define R_FILE ((L)0x1fffffffull)

static void set_iov(uint32_t buf, uint32_t len) {
  iov[0] = buf;
  iov[1] = len;
}

static I open_file(const char *path, I oflags, L rights) {
  I fd = -1;
  I err = r_path_open(3, 0, A(path), (I)strlen(path), oflags, rights, 0, 0, A(&out32));
  if (err) { printf("setup %s: %s\n", path, ename(err)); exit(3); }
  fd = (I)out32;
  return fd;
}

static int exists(const char *path) {
  return r_path_filestat_get(3, 0, A(path), (I)strlen(path), A(scratch)) == 0;
}

static void process_calls(void) {
  row("args_sizes_get_oob", r_args_sizes_get(OOB, A(&out32b)));
  row("args_sizes_get_end", r_args_sizes_get(A(&out32), END));
  row("args_get_ptrs_oob", r_args_get(OOB, A(scratch)));
  row("args_get_buf_end", r_args_get(A(scratch), END));
  row("environ_sizes_get_oob", r_environ_sizes_get(A(&out32), OOB));
  row("environ_get_buf_end", r_environ_get(A(scratch), END));
  row("environ_get_ptrs_oob", r_environ_get(OOB, A(scratch)));
  row("clock_res_get_oob", r_clock_res_get(0, OOB));
  row("clock_res_get_bad_id", r_clock_res_get(99, A(&out64)));
  row("clock_time_get_end", r_clock_time_get(1, 0, END8));
  row("clock_time_get_neg_id", r_clock_time_get(-1, 0, A(&out64)));
  row("random_get_oob", r_random_get(OOB, 16));
  row("random_get_huge", r_random_get(A(scratch), HUGE));
  row("random_get_end", r_random_get(END, 2));
  row("proc_raise_bad", r_proc_raise(99));
  row("proc_raise_neg", r_proc_raise(-1));
}

static void fd_calls(void) {
  I file = open_file("file.txt", 0, R_FILE);
  I wfile = open_file("victim.txt", 0, R_FILE);

  row("fd_write_iovs_oob", r_fd_write(1, OOB, 1, A(&out32)));
  set_iov((uint32_t)OOB, 16);
  row("fd_write_buf_oob", r_fd_write(1, A(iov), 1, A(&out32)));
  set_iov((uint32_t)A(scratch), (uint32_t)HUGE);
  row("fd_write_len_huge", r_fd_write(1, A(iov), 1, A(&out32)));
  set_iov((uint32_t)A("LEAK\n"), 5);
  row("fd_write_count_huge", r_fd_write(1, A(iov), HUGE, A(&out32)));
  row("fd_write_count_neg", r_fd_write(1, A(iov), NEG, A(&out32)));
  row("fd_write_nwritten_oob", r_fd_write(1, A(iov), 1, OOB));
  row("fd_write_nwritten_end", r_fd_write(1, A(iov), 1, END));
  fflush(stdout);

  set_iov((uint32_t)A(scratch), 64);
  row("fd_read_nread_oob", r_fd_read(0, A(iov), 1, OOB));
  set_iov((uint32_t)OOB, 64);
  row("fd_read_buf_oob", r_fd_read(0, A(iov), 1, A(&out32)));
  row("fd_read_count_huge", r_fd_read(0, A(iov), HUGE, A(&out32)));
  set_iov((uint32_t)A(scratch), 64);
  memset(scratch, 0, 64);
  I err = r_fd_read(0, A(iov), 1, A(&out32));
  if (err) row("fd_read_after", err);
  else printf("fd_read_after: OK (%.*s)\n", (int)(out32 > 0 && scratch[out32 - 1] == '\n' ? out32 - 1 : out32), scratch);

  row("fd_pread_offset_neg", r_fd_pread(file, A(iov), 1, (L)0x8000000000000000ull, A(&out32)));
  row("fd_pread_offset_minus1", r_fd_pread(file, A(iov), 1, -1, A(&out32)));
  row("fd_pread_nread_end", r_fd_pread(file, A(iov), 1, 0, END));
  set_iov((uint32_t)A("PWNED"), 5);
  row("fd_pwrite_nwritten_oob", r_fd_pwrite(wfile, A(iov), 1, 0, OOB));
  set_iov((uint32_t)OOB, 5);
  row("fd_pwrite_buf_oob", r_fd_pwrite(wfile, A(iov), 1, 0, A(&out32)));
  row("fd_seek_result_oob", r_fd_seek(file, 0, 0, OOB));
  row("fd_seek_negative", r_fd_seek(file, -1, 0, A(&out64)));
  row("fd_seek_whence", r_fd_seek(file, 0, 99, A(&out64)));
  row("fd_seek_huge", r_fd_seek(file, (L)0x7FFFFFFFFFFFFFFFull, 0, A(&out64)));
  row("fd_tell_end", r_fd_tell(file, END8));
  row("fd_fdstat_get_oob", r_fd_fdstat_get(1, OOB));
  row("fd_fdstat_get_end", r_fd_fdstat_get(1, END8));
  row("fd_fdstat_set_flags_bad", r_fd_fdstat_set_flags(1, 0xFFFF));
  row("fd_fdstat_set_rights_gain", r_fd_fdstat_set_rights(3, -1, -1));
  row("fd_filestat_get_end", r_fd_filestat_get(file, END8));
  row("fd_filestat_set_size_neg", r_fd_filestat_set_size(wfile, -1));
  row("fd_filestat_set_times_flags", r_fd_filestat_set_times(wfile, 0, 0, 0xFFFF));
  row("fd_allocate_huge", r_fd_allocate(wfile, (L)0x7FFFFFFFFFFFFFFFull, (L)0x7FFFFFFFFFFFFFFFull));
  row("fd_allocate_neg", r_fd_allocate(wfile, -1, 1));
  row("fd_advise_neg", r_fd_advise(file, -1, 0, 0));
  row("fd_advise_bad", r_fd_advise(file, 0, 0, 99));
  row("fd_close_neg", r_fd_close(-1));
  row("fd_close_huge", r_fd_close(0x7FFFFFFF));
  row("fd_renumber_neg", r_fd_renumber(-1, 1));
  row("fd_sync_neg", r_fd_sync(-1));
  row("fd_datasync_neg", r_fd_datasync(-1));
  row("fd_prestat_get_oob", r_fd_prestat_get(3, OOB));
  row("fd_prestat_dir_name_oob", r_fd_prestat_dir_name(3, OOB, 16));
  row("fd_prestat_dir_name_end", r_fd_prestat_dir_name(3, END, 16));
  row("fd_readdir_used_oob", r_fd_readdir(3, A(scratch), 256, 0, OOB));
  row("fd_readdir_buf_oob", r_fd_readdir(3, OOB, 256, 0, A(&out32)));
  row("fd_readdir_buf_huge", r_fd_readdir(3, A(scratch), HUGE, 0, A(&out32)));
  row("fd_readdir_cookie_huge", r_fd_readdir(3, A(scratch), 256, -1, A(&out32)));
}

static void path_calls(void) {
  row("path_open_fd_oob_creat", r_path_open(3, 0, S("created_by_bad_ptr.txt"), 1, R_FILE, 0, 0, OOB));
  printf("path_open_fd_oob_creat_after: %s\n", exists("created_by_bad_ptr.txt") ? "CREATED" : "ABSENT");
  row("path_open_fd_end", r_path_open(3, 0, S("file.txt"), 0, R_FILE, 0, 0, END));
  row("path_open_path_oob", r_path_open(3, 0, OOB, 16, 0, R_FILE, 0, 0, A(&out32)));
  row("path_open_len_huge", r_path_open(3, 0, A("file.txt"), HUGE, 0, R_FILE, 0, 0, A(&out32)));
  row("path_open_len_end", r_path_open(3, 0, END, 2, 0, R_FILE, 0, 0, A(&out32)));
  row("path_open_oflags_bad", r_path_open(3, 0, S("file.txt"), 0xFFFF, R_FILE, 0, 0, A(&out32)));
  row("path_open_dirfd_neg", r_path_open(-1, 0, S("file.txt"), 0, R_FILE, 0, 0, A(&out32)));
  row("path_create_directory_oob", r_path_create_directory(3, OOB, 4));
  row("path_create_directory_len_huge", r_path_create_directory(3, A("newdir"), HUGE));
  row("path_filestat_get_result_end", r_path_filestat_get(3, 0, S("file.txt"), END8));
  row("path_filestat_set_times_oob", r_path_filestat_set_times(3, 0, OOB, 4, 0, 0, 0));
  row("path_link_oob", r_path_link(3, 0, OOB, 4, 3, S("hard")));
  row("path_link_target_oob", r_path_link(3, 0, S("file.txt"), 3, OOB, 4));
  row("path_readlink_used_oob", r_path_readlink(3, S("link"), A(scratch), 64, OOB));
  row("path_readlink_buf_oob", r_path_readlink(3, S("link"), OOB, 64, A(&out32)));
  row("path_readlink_buf_huge", r_path_readlink(3, S("link"), A(scratch), HUGE, A(&out32)));
  row("path_remove_directory_oob", r_path_remove_directory(3, OOB, 4));
  row("path_rename_oob", r_path_rename(3, OOB, 4, 3, S("y")));
  row("path_rename_target_oob", r_path_rename(3, S("file.txt"), 3, OOB, 4));
  printf("path_rename_target_oob_after: %s\n", exists("file.txt") ? "KEPT" : "MOVED");
  row("path_symlink_oob", r_path_symlink(OOB, 4, 3, S("made_link")));
  printf("path_symlink_oob_after: %s\n", exists("made_link") ? "CREATED" : "ABSENT");
  row("path_unlink_file_oob", r_path_unlink_file(3, OOB, 4));
}

static void clock_sub(uint8_t *s, uint64_t timeout) {
  memset(s, 0, 48);
  s[8] = 0;                                   /* tag: clock */
  *(uint32_t *)(s + 16) = 1;                  /* monotonic */
  *(uint64_t *)(s + 24) = timeout;
}

static void poll_calls(void) {
  clock_sub(subs, 0);
  row("poll_oneoff_in_oob", r_poll_oneoff(OOB, A(events), 1, A(&out32)));
  row("poll_oneoff_out_oob", r_poll_oneoff(A(subs), OOB, 1, A(&out32)));
  row("poll_oneoff_nevents_end", r_poll_oneoff(A(subs), A(events), 1, END));
  row("poll_oneoff_zero", r_poll_oneoff(A(subs), A(events), 0, A(&out32)));
  row("poll_oneoff_nsubs_huge", r_poll_oneoff(A(subs), A(events), HUGE, A(&out32)));
  subs[8] = 99;
  row("poll_oneoff_bad_tag", r_poll_oneoff(A(subs), A(events), 1, A(&out32)));
  memset(subs, 0, 48);
  subs[8] = 1;                                /* fd_read */
  *(uint32_t *)(subs + 16) = 0x7FFFFFFF;
  I err = r_poll_oneoff(A(subs), A(events), 1, A(&out32));
  printf("poll_oneoff_bad_fd: %s event=%s\n", ename(err), ename(*(uint16_t *)(events + 8)));
}

static void sock_calls(void) {
  /* A listener and a pending connection on the guest's own loopback. */
  I l, c, s;
  if (x_sock_open(1, 1, 0, A(&out32))) { printf("setup sock_open failed\n"); exit(3); }
  l = (I)out32;
  memset(addr, 0, sizeof addr);
  addr[0] = 1; *(uint16_t *)(addr + 2) = 5555; addr[4] = 127; addr[7] = 1;
  row("sock_bind_oob", x_sock_bind(l, OOB));
  row("sock_bind_end", x_sock_bind(l, END110));
  addr[0] = 99;
  row("sock_bind_tag", x_sock_bind(l, A(addr)));
  addr[0] = 1;
  row("sock_bind_ok", x_sock_bind(l, A(addr)));
  row("sock_listen_neg", x_sock_listen(l, -1));
  row("sock_listen_flags", r_fd_fdstat_set_flags(l, 4 /* NONBLOCK */));

  /* sock_open with a bad result pointer must not leave a socket behind. */
  if (x_sock_open(1, 1, 0, A(&out32))) { printf("setup sock_open failed\n"); exit(3); }
  I probe = (I)out32;
  r_fd_close(probe);
  row("sock_open_fd_oob", x_sock_open(1, 1, 0, OOB));
  row("sock_open_fd_end", x_sock_open(1, 1, 0, END));
  if (x_sock_open(1, 1, 0, A(&out32))) { printf("setup sock_open failed\n"); exit(3); }
  c = (I)out32;
  printf("sock_open_fd_oob_after: %s\n", c == probe ? "SAME_SLOT" : "LEAKED");

  row("sock_connect_oob", x_sock_connect(c, OOB));
  row("sock_connect_ok", x_sock_connect(c, A(addr)));

  /* The pending connection must survive bad accepts. */
  row("sock_accept_result_oob", r_sock_accept(l, 0, OOB));
  row("sock_accept_v2_fd_oob", x_sock_accept_v2(l, 0, OOB, A(addr)));
  row("sock_accept_v2_addr_oob", x_sock_accept_v2(l, 0, A(&out32), OOB));
  row("sock_accept_v2_addr_end", x_sock_accept_v2(l, 0, A(&out32), END110 + 1));
  row("sock_accept_v2_flags", x_sock_accept_v2(l, 0xFF, A(&out32), A(addr)));
  row("sock_accept_after", x_sock_accept_v2(l, 0, A(&out32), A(addr)));
  s = (I)out32;

  /* Bad result pointers on send must not send. */
  set_iov((uint32_t)A("LEAKED"), 6);
  row("sock_send_solen_oob", r_sock_send(c, A(iov), 1, 0, OOB));
  row("sock_send_iov_oob", r_sock_send(c, OOB, 1, 0, A(&out32)));
  row("sock_send_count_huge", r_sock_send(c, A(iov), HUGE, 0, A(&out32)));
  addr[0] = 1;
  row("sock_send_to_addr_oob", x_sock_send_to(c, A(iov), 1, 0, OOB, A(&out32)));
  row("sock_send_to_sent_oob", x_sock_send_to(c, A(iov), 1, 0, A(addr), OOB));
  set_iov((uint32_t)A("good"), 4);
  row("sock_send_ok", r_sock_send(c, A(iov), 1, 0, A(&out32)));

  /* Bad result pointers on receive must not consume. */
  set_iov((uint32_t)A(scratch), 64);
  row("sock_recv_rolen_oob", r_sock_recv(s, A(iov), 1, 0, OOB, A(&out32b)));
  row("sock_recv_roflags_oob", r_sock_recv(s, A(iov), 1, 0, A(&out32), OOB));
  row("sock_recv_from_addr_oob", x_sock_recv_from(s, A(iov), 1, 0, A(&out32), A(&out32b), OOB));
  set_iov((uint32_t)OOB, 64);
  row("sock_recv_buf_oob", r_sock_recv(s, A(iov), 1, 0, A(&out32), A(&out32b)));
  set_iov((uint32_t)A(scratch), 64);
  memset(scratch, 0, 64);
  I err = r_sock_recv(s, A(iov), 1, 8 /* WASIX: do not wait */, A(&out32), A(&out32b));
  if (err) row("sock_recv_after", err);
  else printf("sock_recv_after: OK (%.*s)\n", (int)out32, scratch);

  row("sock_status_oob", x_sock_status(c, OOB));
  row("sock_addr_local_end", x_sock_addr_local(c, END110));
  row("sock_addr_peer_oob", x_sock_addr_peer(c, OOB));
  row("sock_set_opt_flag_bad", x_sock_set_opt_flag(c, 999, 1));
  row("sock_get_opt_flag_oob", x_sock_get_opt_flag(c, 2, OOB));
  row("sock_set_opt_time_oob", x_sock_set_opt_time(c, 19, OOB));
  row("sock_get_opt_time_end", x_sock_get_opt_time(c, 19, END8));
  row("sock_set_opt_size_huge", x_sock_set_opt_size(c, 15, -1));
  row("sock_get_opt_size_end", x_sock_get_opt_size(c, 15, END8));
  row("sock_shutdown_bad", r_sock_shutdown(c, 99));
  row("sock_on_file", r_sock_send(3, A(iov), 1, 0, A(&out32)));
  row("sock_on_bad_fd", r_sock_recv(-1, A(iov), 1, 0, A(&out32), A(&out32b)));

  row("resolve_name_oob", x_resolve(OOB, 5, 80, A(scratch), 4, A(&out32)));
  row("resolve_len_huge", x_resolve(A("localhost"), HUGE, 80, A(scratch), 4, A(&out32)));
  row("resolve_addrs_oob", x_resolve(S("localhost"), 80, OOB, 4, A(&out32)));
  row("resolve_naddrs_huge", x_resolve(S("localhost"), 80, A(scratch), HUGE, A(&out32)));
  row("resolve_nresolved_oob", x_resolve(S("example.com"), 80, A(scratch), 4, OOB));
}

int main(int argc, char **argv) {
  I size = (I)(__builtin_wasm_memory_size(0) * 65536u);
  END = size - 1;
  END8 = size - 4;
  END110 = size - 100;
  if (argc > 1 && !strcmp(argv[1], "poll_neg")) {
    clock_sub(subs, 0);
    row("poll_oneoff_nsubs_neg", r_poll_oneoff(A(subs), A(events), NEG, A(&out32)));
    return 0;
  }
  process_calls();
  fd_calls();
  path_calls();
  poll_calls();
  sock_calls();
  printf("done\n");
  return 0;
}
