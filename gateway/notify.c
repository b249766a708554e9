/* SPDX-License-Identifier: MIT */
/* Service manager notifications over NOTIFY_SOCKET (see notify.h). */
#include "forestwatch/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int fw_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0])
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
        return -EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* an abstract socket: no file, the name starts with NUL */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    int rc = n < 0 ? -errno : 1;
    close(fd);
    return rc;
}

int64_t fw_notify_watchdog_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (!usec)
        return 0;
    char *end;
    errno = 0;
    if (pid) {
        long long p = strtoll(pid, &end, 10);
        if (errno || *end || p != (long long)getpid())
            return 0;
    }
    unsigned long long us = strtoull(usec, &end, 10);
    if (errno || *end || us == 0 || usec[0] == '-')
        return 0;
    int64_t half = (int64_t)(us / 2000);
    return half > 0 ? half : 1;
}
