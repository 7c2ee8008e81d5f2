// ConversationStore: round trips, attachment copies, kill -9 during a streamed answer, a database from the future,
// exports.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "glmv/app/conversation_store.h"
#include "test_util.h"

using glmv::app::ConversationStore;
using glmv::app::StoredAttachment;
using glmv::app::StoredMessage;

TEST(ConversationStore, MessagesAndAttachmentsSurviveAReopenAndTheOriginalFileBeingDeleted) {
    glmv::test::TempDir dir;
    const QString       data = QString::fromStdString(dir.file("data"));
    const QString       img  = QString::fromStdString(dir.file("cat.png"));
    QFile::copy(QString::fromStdString(glmv::test::tiny_dir() + "/images/small.png"), img);
    qint64 conv = 0;
    {
        ConversationStore s;
        ASSERT_TRUE(s.open(data)) << s.lastError().toStdString();
        conv = s.createConversation("Cats");
        StoredMessage u;
        u.role = "user";
        u.text = "What is this?";
        u.attachments.push_back({"image", img, QString(), QString(), 1, 0});
        ASSERT_GT(s.addMessage(conv, u), 0) << s.lastError().toStdString();
        StoredMessage a;
        a.role     = "assistant";
        a.text     = "A gradient.";
        a.thinking = "Colors change smoothly.";
        ASSERT_GT(s.addMessage(conv, a), 0);
    }
    QFile::remove(img);
    ConversationStore s;
    ASSERT_TRUE(s.open(data));
    auto msgs = s.messages(conv);
    ASSERT_EQ(msgs.size(), 2);
    EXPECT_EQ(msgs[0].text, "What is this?");
    ASSERT_EQ(msgs[0].attachments.size(), 1);
    EXPECT_TRUE(QFile::exists(msgs[0].attachments[0].path));
    EXPECT_EQ(msgs[0].attachments[0].originalName, "cat.png");
    EXPECT_EQ(msgs[0].attachments[0].sha256.size(), 64);
    EXPECT_EQ(msgs[1].thinking, "Colors change smoothly.");
    // Search covers titles, answers and reasoning.
    EXPECT_EQ(s.conversations("smoothly").size(), 1);
    EXPECT_EQ(s.conversations("no such words").size(), 0);
    // Delete goes to the trash and can be undone.
    s.deleteConversation(conv);
    EXPECT_EQ(s.conversations().size(), 0);
    s.restoreConversation(conv);
    EXPECT_EQ(s.conversations().size(), 1);
    // Export.
    const QString md = s.exportMarkdown(conv);
    EXPECT_TRUE(md.contains("## User") && md.contains("A gradient.") && md.contains("<details>"));
    auto json = QJsonDocument::fromJson(s.exportJson(conv).toUtf8()).array();
    ASSERT_EQ(json.size(), 2);
    EXPECT_EQ(json[0].toObject()["role"].toString(), "user");
    EXPECT_TRUE(json[0].toObject()["content"].toArray()[0].toObject()["image_url"].toObject()["url"].toString().startsWith(
        "data:image/png;base64,"));
    EXPECT_EQ(json[1].toObject()["content"].toString(), "A gradient.");
    EXPECT_EQ(json[1].toObject()["reasoning_content"].toString(), "Colors change smoothly.");
}

TEST(ConversationStore, KillDuringStreamingKeepsThePartialAnswerMarkedInterrupted) {
    for (int trial = 0; trial < 5; ++trial) {
        glmv::test::TempDir dir;
        const QString       data = QString::fromStdString(dir.file("data"));
        int                 pipefd[2];
        ASSERT_EQ(pipe(pipefd), 0);
        pid_t pid = fork();
        if (pid == 0) {
            // Child: a user turn, then an answer streamed with a checkpoint every 20 ms, forever.
            close(pipefd[0]);
            ConversationStore s;
            if (!s.open(data)) _exit(3);
            qint64        conv = s.createConversation("t");
            StoredMessage u;
            u.role = "user";
            u.text = "go";
            s.addMessage(conv, u);
            StoredMessage a;
            a.role  = "assistant";
            a.state = "streaming";
            qint64  id = s.addMessage(conv, a);
            QString text;
            for (int i = 0;; ++i) {
                text += QString("token%1 ").arg(i);
                s.checkpoint(id, text, "thinking");
                if (i == 3) (void)!write(pipefd[1], "x", 1);
                usleep(20000);
            }
        }
        close(pipefd[1]);
        char c;
        ASSERT_EQ(read(pipefd[0], &c, 1), 1); // at least 4 checkpoints happened
        usleep(1000 * (10 + 37 * trial));
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        close(pipefd[0]);

        ConversationStore s;
        ASSERT_TRUE(s.open(data)) << s.lastError().toStdString();
        auto convs = s.conversations();
        ASSERT_EQ(convs.size(), 1);
        auto msgs = s.messages(convs[0].id);
        ASSERT_EQ(msgs.size(), 2);
        EXPECT_EQ(msgs[0].text, "go");
        EXPECT_EQ(msgs[1].state, "interrupted");
        EXPECT_TRUE(msgs[1].text.startsWith("token0 token1 token2 token3 ")) << msgs[1].text.toStdString();
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "check");
        db.setDatabaseName(data + "/conversations.sqlite");
        ASSERT_TRUE(db.open());
        {
            QSqlQuery q(db);
            q.exec("PRAGMA integrity_check");
            ASSERT_TRUE(q.next());
            EXPECT_EQ(q.value(0).toString(), "ok");
        }
        db.close();
        db = QSqlDatabase();
        QSqlDatabase::removeDatabase("check");
    }
}

TEST(ConversationStore, DatabaseFromANewerVersionIsReadOnlyAndNeverHidden) {
    glmv::test::TempDir dir;
    const QString       data = QString::fromStdString(dir.file("data"));
    qint64              conv;
    {
        ConversationStore s;
        ASSERT_TRUE(s.open(data));
        conv = s.createConversation("Old chat");
    }
    {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "bump");
        db.setDatabaseName(data + "/conversations.sqlite");
        ASSERT_TRUE(db.open());
        QSqlQuery(db).exec("PRAGMA user_version = 99");
        db.close();
    }
    QSqlDatabase::removeDatabase("bump");
    ConversationStore s;
    ASSERT_TRUE(s.open(data));
    EXPECT_TRUE(s.isReadOnly());
    EXPECT_TRUE(s.lastError().contains("newer")) << s.lastError().toStdString();
    ASSERT_EQ(s.conversations().size(), 1);
    EXPECT_EQ(s.conversations()[0].title, "Old chat");
    EXPECT_EQ(s.createConversation("new"), 0); // refused, nothing written
    (void)conv;
}

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
